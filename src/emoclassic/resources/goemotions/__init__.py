"""GoEmotions (Demszky et al. 2020, CC BY 4.0), bundled for offline use; see README.md."""
