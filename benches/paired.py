#!/usr/bin/env python3
"""Times two commands in turns (A B A B ...) and prints the ratio of their wall times pair by
pair: the median, and the range over the pairs.

    paired.py LABEL PAIRS A-COMMAND -- B-COMMAND

A shared machine slows whatever runs during a slow spell; two commands timed once each can meet
different spells. Taken in turns, each pair meets about the same one, so the ratio within a
pair is steadier than either time. The first run of each command is not timed: it warms the
page cache and the binary. A command that fails stops the script (exit status 1) with its
standard error.
"""

import statistics
import subprocess
import sys
import time


def wall(cmd):
    started = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        sys.exit(f"{' '.join(cmd)}: exit status {done.returncode}")
    return took


def main(argv):
    if len(argv) < 5 or "--" not in argv[3:]:
        sys.exit(__doc__)
    label, pairs = argv[1], int(argv[2])
    cut = argv.index("--", 3)
    a, b = argv[3:cut], argv[cut + 1 :]
    if pairs < 1 or not a or not b:
        sys.exit(__doc__)
    wall(a)
    wall(b)
    times = [(wall(a), wall(b)) for _ in range(pairs)]
    ratios = sorted(x / y for x, y in times)
    print(
        f"  {label:<50} {statistics.median(ratios):.2f}x "
        f"({ratios[0]:.2f} to {ratios[-1]:.2f}, {pairs} pairs; "
        f"medians {statistics.median(x for x, _ in times):.2f} s "
        f"and {statistics.median(y for _, y in times):.2f} s)"
    )


if __name__ == "__main__":
    main(sys.argv)
