"""Nobody can pose as the carrier: the trunk is identified by its address only.

With `endpoint_identifier_order = username,ip` and a trunk endpoint without auth, an INVITE from any
address whose From user was `trunk` used to be matched by username to the trunk and routed into the
agent (measured: `100 Trying`, then `from-trunk` -> Stasis). The trunk now has `identify_by = ip`
(asterisk/etc/pjsip.conf): from another address the INVITE matches no endpoint and is refused.
Here a UDP socket on 127.0.0.2 (another loopback address: another host, to Asterisk) sends that INVITE.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

SPOOFER = "127.0.0.2"
ASTERISK_SIP = ("127.0.0.1", 5060)  # the lab's transport (asterisk/lab/defaults.env)


class _Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[str] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.received.put_nowait(data.decode(errors="replace"))


def _invite(user: str, host: str, port: int, target: str, to_port: int) -> bytes:
    branch, tag, call_id = (secrets.token_hex(8) for _ in range(3))
    sdp = (f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
           f"m=audio {port + 2} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
    return (f"INVITE sip:800@{target}:{to_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport\r\n"
            f"Max-Forwards: 70\r\n"
            f"From: <sip:{user}@{host}>;tag={tag}\r\n"
            f"To: <sip:800@{target}>\r\n"
            f"Call-ID: {call_id}@{host}\r\n"
            f"CSeq: 1 INVITE\r\n"
            f"Contact: <sip:{user}@{host}:{port}>\r\n"
            f"Content-Type: application/sdp\r\n"
            f"Content-Length: {len(sdp)}\r\n\r\n{sdp}").encode()


async def test_an_invite_claiming_to_be_the_trunk_from_another_address_is_refused() -> None:
    loop = asyncio.get_running_loop()
    try:
        transport, replies = await loop.create_datagram_endpoint(_Replies, local_addr=(SPOOFER, 0))
    except OSError as exc:  # 127.0.0.0/8 is all loopback on Linux; say so if this host differs
        pytest.fail(f"cannot bind {SPOOFER} to play another host: {exc}")
    try:
        port = transport.get_extra_info("sockname")[1]
        transport.sendto(_invite("trunk", SPOOFER, port, *ASTERISK_SIP), ASTERISK_SIP)
        statuses = []
        async with asyncio.timeout(5):
            while not statuses or statuses[-1] < 200:
                first_line = (await replies.received.get()).split("\r\n", 1)[0]
                statuses.append(int(first_line.split()[1]))
    finally:
        transport.close()
    assert statuses[-1] in (401, 403), statuses  # refused: no endpoint is this address
    assert 180 not in statuses and 200 not in statuses  # never rang through to the agent
