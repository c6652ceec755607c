"""Pure audio foundation of the call center: RTP, G.711, resampling, VAD, TTS and real-time pacing.

Nothing here knows about Asterisk ARI, campaigns or databases, so every piece can be tested (and
reused) on its own. Submodules are imported explicitly (``from media.rtp import RtpPacket``) rather
than re-exported here, so that importing the RTP code does not load the TTS engine.
"""
