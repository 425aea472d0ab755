"""Build SIPp caller scenarios from a few steps (INVITE and ACK are always first).

Steps: ("dtmf", "1#") plays RFC 4733 digits (pcaps with increasing timestamps, see dtmf.py);
("pause", ms); ("audio", loops)
streams caller.al from the working folder; ("bye",) hangs up; ("await_bye",) waits for Asterisk to hang up.
"""

from __future__ import annotations

from pathlib import Path

from tests.sip.dtmf import digit_pcap

HEAD = (Path(__file__).resolve().parent / "citizen_report.xml").read_text(encoding="utf-8")
INVITE_AND_ACK = HEAD[HEAD.index("<scenario"):HEAD.index('<pause milliseconds="1500"/>')]
BYE = HEAD[HEAD.index('  <send retrans="500">\n    <![CDATA[\n      BYE'):HEAD.index("<ResponseTimeRepartition")]
AWAIT_BYE = """  <recv request="BYE"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""


def _digit(folder: Path, key: str, index: int) -> str:
    pcap = digit_pcap(folder, key, index)
    return (f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
            '  <pause milliseconds="400"/>\n')


def build(folder: Path, steps: list[tuple[str, ...]]) -> str:
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>\n', INVITE_AND_ACK]
    keys = 0
    for step in steps:
        kind = step[0]
        if kind == "dtmf":
            for key in step[1]:
                parts.append(_digit(folder, key, keys))
                keys += 1
        elif kind == "pause":
            parts.append(f'  <pause milliseconds="{step[1]}"/>\n')
        elif kind == "audio":
            parts.append(f'  <nop><action><exec rtp_stream="caller.al,{step[1]},8"/></action></nop>\n')
        elif kind == "bye":
            parts.append(BYE)
        elif kind == "await_bye":
            parts.append(AWAIT_BYE)
        else:
            raise ValueError(kind)
    parts.append("</scenario>\n")
    return "".join(parts)


def write(folder: Path, name: str, steps: list[tuple[str, ...]]) -> Path:
    path = folder / name
    path.write_text(build(folder, steps), encoding="utf-8")
    return path


UAS_HEAD = """<scenario name="uas">
  <recv request="INVITE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:[local_ip]:[local_port];transport=[transport]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
    ]]>
  </send>
  <recv request="ACK" crlf="true"/>
"""

UAS_MESSAGE = """<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="message">
  <recv request="MESSAGE" crlf="true"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
</scenario>
"""


def write_uas(folder: Path, name: str, steps: list[tuple[str, ...]]) -> Path:
    """A called party (the citizen behind the trunk): answers, runs `steps` (dtmf, pause), then waits
    for Asterisk's BYE. Build it with SIPp in server mode (tests/sip/peers.py: start_uas)."""
    parts = ['<?xml version="1.0" encoding="UTF-8" ?>\n', UAS_HEAD]
    keys = 0
    for step in steps:
        if step[0] == "dtmf":
            for key in step[1]:
                parts.append(_digit(folder, key, keys))
                keys += 1
        elif step[0] == "pause":
            parts.append(f'  <pause milliseconds="{step[1]}"/>\n')
        else:
            raise ValueError(step[0])
    parts += [AWAIT_BYE, "</scenario>\n"]
    path = folder / name
    path.write_text("".join(parts), encoding="utf-8")
    return path


def write_message_uas(folder: Path, name: str = "message.xml") -> Path:
    path = folder / name
    path.write_text(UAS_MESSAGE, encoding="utf-8")
    return path
