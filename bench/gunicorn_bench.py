"""gunicorn settings for bench/intake_ratio.sh: none; both apps get the same command line."""
