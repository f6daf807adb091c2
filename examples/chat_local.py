"""Ask a local OpenAI-compatible server (llama.cpp, vLLM, TGI, Ollama, LiteLLM) a question, streamed.

python examples/chat_local.py http://127.0.0.1:8090/v1 "What is the capital of France?"
"""

from __future__ import annotations

import sys

from omniinfer import InferenceClient


def main() -> int:
    base_url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080/v1"
    question = sys.argv[2] if len(sys.argv) > 2 else "What is the capital of France? Answer in one sentence."
    with InferenceClient(base_url=base_url) as client:
        stream = client.chat.completions.create(
            messages=[{"role": "user", "content": question}], max_tokens=128, temperature=0, stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
