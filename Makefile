# The project's everyday commands. `make test` is what CI runs.
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
STACK ?= prototype
RATE ?= 1
TOKENS ?= 1000
LLM ?= api
REPLICAS ?= 1

.PHONY: setup lint test unit check synth bench plan load mutate policy-docs clean

setup: ## both environments: the project (app, infra, tools) and the policy pack
	uv sync --frozen
	uv sync --frozen --project policies

lint: ## ruff, formatting, mypy, and the README policy table
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run --directory policies python -m daca_policies.docs --check

unit: ## unit, app, policy tests (integration tests skip without Docker/kind/Pulumi), one worker per core
	uv run pytest -n auto --dist loadfile

check: ## daca check on every shipped stack: policy pack + manifest schemas, offline
	@for stack in $(STACKS); do echo "== daca check $$stack"; uv run daca check $$stack || exit 1; done

test: lint unit check ## everything CI runs

synth: ## daca synth STACK=<stack> (default prototype)
	uv run daca synth $(STACK)

bench: ## app throughput/latency vs bare FastAPI, start-to-ready, idle RSS; planet synth scaling
	uv run python -m tests.bench.bench_app
	uv run python -m tests.bench.bench_synth

plan: ## capacity plan: make plan USERS=10000000 [RATE=1] [TOKENS=1000] [LLM=api|self-hosted]
	uv run daca plan --users $(or $(USERS),10000000) --requests-per-user-per-minute $(RATE) \
		--tokens-per-request $(TOKENS) --llm $(LLM)

load: ## load test a stage: make load URL=https://... USERS=50 DURATION=120 API_KEY=... [RATE=1] [REPLICAS=1]
	@test -n "$(URL)" || { echo "make load needs URL=<the stage's base URL>"; exit 2; }
	DACA_LOAD_API_KEY="$(API_KEY)" DACA_LOAD_USERS=$(or $(USERS),10) \
	DACA_LOAD_DURATION=$(or $(DURATION),60) DACA_LOAD_RATE=$(RATE) DACA_LOAD_REPLICAS=$(REPLICAS) \
		uv run locust -f tests/load/locustfile.py --headless --host "$(URL)" --only-summary \
		--loglevel WARNING

mutate: ## mutation testing, not in CI: make mutate [MODULE=app|k8s|dapr|policies] (docs/testing.md)
	uv run python -m tests.mutate $(MODULE)

policy-docs: ## regenerate the policy tables in README.md and policies/README.md
	uv run --directory policies python -m daca_policies.docs

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
