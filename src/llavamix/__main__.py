from llavamix.cli import main

main()
