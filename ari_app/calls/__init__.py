"""Call control: one `Call` object per call, the Stasis event router, and the outbound dialer.

The room's furniture, as in wazo-calld: `stasis` (telephony events in), `call` and `dialer`
(logic), `outcomes` (telephony facts -> domain outcomes).
"""
