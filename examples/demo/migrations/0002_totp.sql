-- A second factor per account: the TOTP secret, sealed like the e-mail address.
ALTER TABLE users ADD COLUMN totp_sealed TEXT;  -- AEAD ciphertext, NULL until enrolled
