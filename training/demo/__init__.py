"""`training demo`: a click-to-select web page for any model the evaluation harness accepts."""
