-- Which revocations the receiving operations have been told of (the broker confirmed the announcement).
CREATE TABLE IF NOT EXISTS revocation_announcements (
    consent_id   uuid NOT NULL,
    version      int  NOT NULL,
    announced_at timestamptz NOT NULL,
    PRIMARY KEY (consent_id, version)
);
