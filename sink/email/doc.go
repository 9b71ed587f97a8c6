// Package email is the e-mail sink: one thread of mails per incident, sent
// over SMTP (net/smtp) with STARTTLS or implicit TLS and AUTH, each mail a
// multipart/alternative of a plain-text and an HTML part rendered from the
// config's templates.
//
// It owns the SMTP conversation, the MIME message and its header encoding.
// Like every sink it imports sink and incident and nothing of the store,
// the pipeline or app.
package email
