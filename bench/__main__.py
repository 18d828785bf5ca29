"""Run every benchmark in one go (``make bench``); each writes bench/results/<name>.{json,md}."""

from __future__ import annotations

from bench import serde


def main() -> None:
    for module in (serde,):
        name = module.__name__.rsplit(".", 1)[-1]
        print(f"== bench {name}", flush=True)
        for row in module.run():
            print("  ", row, flush=True)


if __name__ == "__main__":
    main()
