"""The plate renderer: glyphs, plate designs, street scenes and training windows (training images only)."""
