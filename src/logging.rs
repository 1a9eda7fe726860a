//! Logging set-up and the line-count rotating log file.
