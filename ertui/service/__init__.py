"""Running ertui as a supervised service and watching it: the queue's snapshot
(one aggregation query), Prometheus metrics, the monitoring check (Nagios
contract), systemd's notify protocol and unit, and retention. Core code: no
Textual, no Click; it never imports ``ertui.delivery`` (the runner hands it the
worker through the small ``WorkerView`` protocol)."""
