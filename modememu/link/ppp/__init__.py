"""PPP (RFC 1661) above the async HDLC framer: control protocols, authentication, the session.

`wire` holds the numbers and packet layout every part shares; `fsm` the RFC 1661
automaton; `lcp`, `ipcp`, `pap`, `chap` the protocols; `printer` pppd's debug
format; `session` wires them to the framer.
"""
