"""InsightFace's model family: SCRFD detection, ArcFace recognition and the crop networks of its
model packs (age/gender, 106 landmarks)."""
