"""Where a Relais SMS webhook request spends its time, in one process, without gunicorn.

    python -m bench.profile [--requests 300] [--keep DIR] [--cprofile]

Prepares a database as `python -m bench` does, then posts the benchmark's signed requests
through Flask's test client under pyinstrument (`pip install pyinstrument`), or cProfile
with `--cprofile`, and prints where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from typing import Any

from bench.loadgen import LoadSpec, RequestMaker
from bench.webhook import AUTH_TOKEN, bench_database, prepare_relais, relais_env, workspace

PUBLIC_URL = "http://127.0.0.1:5000"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--keep", default="")
    parser.add_argument("--cprofile", action="store_true", help="cProfile instead of pyinstrument")
    args = parser.parse_args(argv)

    with workspace(args.keep) as workdir, bench_database(workdir) as (url, _label):
        env = relais_env(workdir, url)
        env["RELAIS_PUBLIC_URL"] = PUBLIC_URL
        prepare_relais(env, workdir / "profile.log")
        os.environ.update(env)
        from bot.app import create_app

        app = create_app()
        client = app.test_client()
        spec = LoadSpec("127.0.0.1", 5000, "/twilio/sms", PUBLIC_URL, AUTH_TOKEN)
        maker = RequestMaker(spec, slot=0, slots=1, run_id=int(time.time()))

        def post() -> None:
            body, headers = maker.next()
            response = client.post("/twilio/sms", data=body, headers=headers, base_url=PUBLIC_URL)
            assert response.status_code == 200, response.status_code

        for _ in range(args.warmup):
            post()
        started = time.perf_counter()
        if args.cprofile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.requests):
                post()
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(
                os.environ.get("BENCH_PROFILE_SORT", "cumulative")
            )
            stats.print_stats(40)
        else:
            from pyinstrument import Profiler

            profile: Any = Profiler(interval=0.0005)
            profile.start()
            for _ in range(args.requests):
                post()
            profile.stop()
            print(profile.output_text(unicode=True, color=False, show_all=False))
        elapsed = time.perf_counter() - started
        print(
            f"{args.requests} requests in {elapsed:.2f} s: "
            f"{elapsed / args.requests * 1000:.1f} ms each"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
