"""The demo's sink takes its time per message, so the demo's queue is seen to move.

    python bench/demo_sink.py [--delay 0.2] [--messages 5]

Prints the time per message against the configured delay (the ratio should be
just above 1.0). This timing was an assertion in the test suite; a wall-clock
figure belongs here, where a noisy machine cannot fail a build.
"""

from __future__ import annotations

import argparse
import smtplib
import time

from ertui.demo import DemoSink


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--messages", type=int, default=5)
    args = parser.parse_args()
    with DemoSink(delay=args.delay) as sink, smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as client:
        started = time.perf_counter()
        for _ in range(args.messages):
            client.sendmail("a@example.com", ["b@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
        per_message = (time.perf_counter() - started) / args.messages
        assert sink.received == args.messages
    print(f"delay {args.delay:.3f} s, per message {per_message:.3f} s, ratio {per_message / args.delay:.2f}")


if __name__ == "__main__":
    main()
