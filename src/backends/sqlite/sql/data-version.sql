-- Changes whenever another connection commits to the database file: a cheap way for a waiting
-- process to notice work submitted by another process.
PRAGMA data_version
