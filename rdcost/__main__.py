from rdcost.cli import main

main()
