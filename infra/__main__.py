"""`pulumi up` runs this: the program lives in infra/program.py."""

from infra.program import main

main()
