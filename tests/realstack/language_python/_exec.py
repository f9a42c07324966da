"""Runs one Pulumi Python program: started by the stand-in host with the project's interpreter, as a script.

It does the job of the SDK's `pulumi-language-python-exec`: read the stack config from `PULUMI_CONFIG` and
`PULUMI_CONFIG_SECRET_KEYS`, point `pulumi.runtime` at the engine's monitor, then run the program directory's
`__main__.py` (or the given file) as `__main__` inside the stack resource. Exit codes are the host's contract:
0 done, 1 failed (the error was logged to the engine), 32 failed after showing the user what to do.
Only the standard library and `pulumi` are imported: this runs in the project's environment, not ours.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]  # the program must not import the stand-in's modules by accident

import pulumi
import pulumi.runtime

USER_ACTIONABLE_EXIT = 32


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a Pulumi Python program (stand-in host)")
    for name in ("project", "root_directory", "stack", "pwd", "monitor", "engine", "tracing", "organization"):
        parser.add_argument(f"--{name}")
    parser.add_argument("--parallel", type=int, default=0)
    parser.add_argument("--dry_run", default="false")
    parser.add_argument("PROGRAM")
    parser.add_argument("ARGS", nargs="*")
    return parser.parse_args(argv)


def _main_path(program: str) -> Path:
    path = Path(program).absolute()
    return path / "__main__.py" if path.is_dir() else path


def _user_traceback(main: Path) -> str:
    """The traceback from the program's own frame on, as the user would see it running the file directly."""
    frames = traceback.extract_tb(sys.exc_info()[2])
    for index, frame in enumerate(frames):
        if Path(frame.filename).absolute() == main:
            return traceback.format_exc(limit=-(len(frames) - index))
    return traceback.format_exc()


def _run_program(program: str) -> None:
    runpy.run_path(program, run_name="__main__")


def main(argv: list[str]) -> int:
    args = _parse(argv)
    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    settings = pulumi.runtime.Settings(
        project=args.project,
        stack=args.stack,
        monitor=args.monitor,
        engine=args.engine,
        parallel=args.parallel,
        dry_run=args.dry_run == "true",
        organization=args.organization,
        root_directory=args.root_directory,
    )
    pulumi.runtime.configure(settings)
    sys.argv = [args.PROGRAM, *args.ARGS]
    if args.pwd:
        os.chdir(args.pwd)
    main_path = _main_path(args.PROGRAM)
    if not main_path.exists():
        pulumi.log.error(f"unable to find main python program `__main__.py` in `{main_path.parent}`")
        return USER_ACTIONABLE_EXIT

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    executor = ThreadPoolExecutor(max_workers=max(args.parallel, 1) * 4)
    loop.set_default_executor(executor)
    # Futures of a failed program stay unobserved on purpose; asyncio would report each one.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(lambda: _run_program(args.PROGRAM)))
        return 0
    except pulumi.RunError as error:
        pulumi.log.error(str(error))
        return 1
    except Exception:
        pulumi.log.error("Program failed with an unhandled exception:\n" + _user_traceback(main_path))
        return USER_ACTIONABLE_EXIT
    finally:
        executor.shutdown(wait=True)
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
