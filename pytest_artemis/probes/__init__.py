"""The probes gate's library: probe specs read from the rendered manifests (:mod:`.spec`, :mod:`.locate`) and
the live checks of a running target against them (:mod:`.live`). No pytest imports here."""
