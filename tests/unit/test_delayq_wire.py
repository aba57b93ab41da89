"""The lab delayer's nfnetlink messages, built and read without a kernel (the lab tests run it)."""

from __future__ import annotations

import struct

from probe.lab.middlebox import delayq


def _packet_message(packet_id: int, *, extra_attr_first: bool = False) -> bytes:
    attrs = b""
    if extra_attr_first:  # NFQA_MARK before the header: attributes come in any order
        attrs += delayq._attr(3, struct.pack("!I", 7))
    attrs += delayq._attr(delayq.NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, 0x0800, 1))
    return delayq._message(delayq.NFQNL_MSG_PACKET, 20, attrs, flags=0)


def test_packet_ids_reads_every_message_of_a_buffer() -> None:
    buffer = _packet_message(5) + _packet_message(6, extra_attr_first=True) + _packet_message(0xFFFFFFFE)
    assert delayq.packet_ids(buffer, len(buffer)) == [5, 6, 0xFFFFFFFE]


def test_packet_ids_stops_at_a_truncated_or_foreign_message() -> None:
    whole = _packet_message(9)
    assert delayq.packet_ids(whole + whole[:10], len(whole) + 10) == [9]
    ack = struct.pack("=IHHII", 36, delayq.NLMSG_ERROR, 0, 1, 0) + bytes(20)
    assert delayq.packet_ids(ack + whole, len(ack) + len(whole)) == [9]
    broken = struct.pack("=IHHII", 4, 0x300, 0, 0, 0)  # a length shorter than its own header
    assert delayq.packet_ids(broken + whole, len(broken) + len(whole)) == []


def test_batch_verdict_accepts_every_id_up_to_the_last_due() -> None:
    message = delayq.accept_up_to(20, 1234)
    length, kind, flags = struct.unpack_from("=IHH", message)
    assert length == len(message) == 16 + 4 + 4 + 8
    assert kind == (delayq.NFNL_SUBSYS_QUEUE << 8) | delayq.NFQNL_MSG_VERDICT_BATCH
    assert flags == delayq.NLM_F_REQUEST
    assert struct.unpack_from("!BBH", message, 16) == (0, 0, 20)  # AF_UNSPEC, version 0, queue 20
    assert struct.unpack_from("=HH", message, 20) == (12, delayq.NFQA_VERDICT_HDR)
    assert struct.unpack_from("!II", message, 24) == (delayq.NF_ACCEPT, 1234)


def test_config_messages_ask_for_an_acknowledgement_and_metadata_only() -> None:
    bind = delayq.bind_message(20, seq=1)
    assert struct.unpack_from("=IHHI", bind)[2:] == (delayq.NLM_F_REQUEST | delayq.NLM_F_ACK, 1)
    assert struct.unpack_from("!B", bind, 24)[0] == delayq.NFQNL_CFG_CMD_BIND
    params = delayq.params_message(20, seq=2)
    assert len(params) % 4 == 0
    assert struct.unpack_from("=HH", params, 20) == (9, delayq.NFQA_CFG_PARAMS)  # 5 bytes, padded to 8
    assert struct.unpack_from("!IB", params, 24) == (0, delayq.NFQNL_COPY_META)
    assert struct.unpack_from("=HH", params, 32) == (8, delayq.NFQA_CFG_QUEUE_MAXLEN)
