"""What the OpenTelemetry hook costs a call when no tracer or meter provider is configured.

    .venv/bin/python bench/telemetry_overhead.py [--calls 200000]

Measures, in fresh interpreters, the per-call work the hook adds to the driver — building the call's
`ResponseMeta` with its task name (which asks `telemetry.begin` whether to observe) and finishing it —
against the same work without a task name (the hook skipped), in three states: opentelemetry never
imported; the API imported but no provider set; and for scale, an SDK provider exporting nowhere.
Prints ns per call (CPU time, best of 5 rounds). No network, no stub.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

PROBE = r"""
import sys, time
{setup}
from omniinfer import InferenceClient
from omniinfer._core.meta import ResponseMeta

ctx = InferenceClient(base_url="http://127.0.0.1:9/v1")._ctx
arguments = {{"messages": [{{"role": "user", "content": "hi"}}], "model": "m", "max_tokens": 64}}
calls = {calls}

def hooked():
    for _ in range(calls):
        ResponseMeta(ctx, "chat_completion", arguments).finished()

def plain():
    for _ in range(calls):
        ResponseMeta(ctx).finished()

def best(fn):
    times = []
    for _ in range(5):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times) / calls * 1e9

base, with_hook = best(plain), best(hooked)
print(f"{{base:.0f}} {{with_hook:.0f}}")
"""

STATES = {
    "opentelemetry not imported": "",
    "API imported, no provider": "import opentelemetry.trace, opentelemetry.metrics",
    "SDK provider, no exporter": (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "trace.set_tracer_provider(TracerProvider())"
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200_000)
    args = ap.parse_args()
    print(f"{'state':<30} {'ResponseMeta alone':>20} {'with the hook':>15} {'hook cost':>10}")
    for state, setup in STATES.items():
        code = PROBE.format(setup=setup, calls=args.calls)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        base, hooked = (float(x) for x in out.split())
        print(f"{state:<30} {base:>17.0f} ns {hooked:>12.0f} ns {hooked - base:>7.0f} ns")


if __name__ == "__main__":
    main()
