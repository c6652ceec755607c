"""The ARI application: wires Asterisk calls to the media pipeline and the campaign engine."""
