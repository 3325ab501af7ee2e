"""The AWS blueprints shipped with sluice: flows to copy, point at your resources, ship.

Each `*.yaml` here is one flow. Its leading comment block is its documentation: the
first line is the one-line summary `sluice blueprints list` prints, the rest says what
it does and what to change. A line ``# Deploy with: OTHER.yaml`` names a companion flow
(a subflow it starts) that `sluice blueprints copy` copies along.
"""
