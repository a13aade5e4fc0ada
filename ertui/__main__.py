from ertui.cli import main

main()
