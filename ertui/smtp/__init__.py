"""SMTP: the transport, its outcomes and their classification, the transcript and the probe (the Test)."""
