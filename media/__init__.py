"""Voice in and out, and nothing else: RTP, G.711, resampling, the jitter buffer, VAD, the speech
segmenter, end-of-turn rules, speech to text (and its correction stage), text to speech, the 20 ms
pacer, the recorder, and the turn loop that drives a `media.responder.Responder`.

Nothing here knows about Asterisk ARI, the collections agent, campaigns or databases, so every piece
can be tested (and reused) with WAV files alone. Submodules are imported explicitly
(``from media.rtp import RtpPacket``) rather than re-exported here, so that importing the RTP code
does not load the TTS engine.
"""
