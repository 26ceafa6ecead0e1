"""Events: a Segment-compatible tracking API (/v1/identify, /v1/track, … /v1/batch) and its
write keys, storing what customers do on the merchant's own site and apps."""
