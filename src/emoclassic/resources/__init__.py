"""Package data shipped with emoclassic."""
