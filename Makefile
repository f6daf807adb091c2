.PHONY: setup test demo lint generate bench

setup:      ## create .venv with omniinfer and the test tools
	scripts/setup.sh

test:       ## lint, types, generated code and the whole test suite (starts the real peers)
	scripts/test.sh

demo:       ## chat with a real local model server, offline
	scripts/demo.sh

lint:
	.venv/bin/ruff check src tests scripts examples && .venv/bin/ruff format --check src tests scripts examples && .venv/bin/mypy

generate:   ## regenerate the async client from client.py
	.venv/bin/python scripts/gen_async_client.py

bench:      ## benchmarks against the peer clients (by hand; writes figures to bench/RESULTS.md)
	python3 bench/run.py
