-- Who acted is the authenticated identity (actor); free text a caller gives
-- about whom it acts for is kept next to it, never instead of it.
ALTER TABLE timeline ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';
ALTER TABLE problem_timeline ADD COLUMN on_behalf_of TEXT NOT NULL DEFAULT '';
