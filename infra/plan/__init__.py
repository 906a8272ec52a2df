"""`daca plan`: capacity planning from concurrent users to replicas, limits and money.

`inputs.yaml` holds every figure with its source and date (`inputs.py` reads it), `model.py`
the shared arithmetic, `stages.py` one planner per stage, `report.py` the table, JSON and
chart, `emit.py` the `daca:planet` block, `command.py` the command line.
"""
