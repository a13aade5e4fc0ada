"""The command lines of a pipelined group, as written in one go."""

from __future__ import annotations

import pytest
from aiosmtplib import SMTPResponse

from ertui.smtp import pipeline


def test_a_group_is_its_command_lines_each_ended_by_crlf() -> None:
    mail, rcpts = pipeline.envelope("a@example.com", ["b@example.com", "c@example.com"], b"x\r\n", True, False)
    joined = pipeline._joined(pipeline.group(mail, rcpts))
    assert joined == b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n"
    assert pipeline._joined([]) == b""


@pytest.mark.parametrize("bad", [b"TO:<a\r\nRSET@example.com>", b"TO:<a\x00@example.com>", b"TO:<a\x7f@example.com>"])
def test_a_control_character_in_any_argument_is_refused(bad: bytes) -> None:
    with pytest.raises(ValueError, match="prohibited control character"):
        pipeline._joined([(b"MAIL", b"FROM:<a@example.com>"), (b"RCPT", bad), (b"DATA",)])


def test_accepted_means_one_recipient_accepted() -> None:
    x = pipeline.Exchange()
    assert not x.accepted
    x.rcpts = [SMTPResponse(550, "no"), SMTPResponse(451, "later")]
    assert not x.accepted
    x.rcpts.append(SMTPResponse(251, "will forward"))
    assert x.accepted
