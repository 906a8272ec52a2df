"""Entry point Pulumi runs for `--policy-pack policies`: builds the pack, nothing else."""

from daca_policies import PACK_NAME, POLICIES
from daca_policies.pack import PACK_KWARGS
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, **PACK_KWARGS)
