-- DeliveryFailed ranks between the permit and the delivery, so the ranks after it moved up by one. A row written
-- before has its old rank; renumbered, it no longer matches, so this changes each row once (and a database that had it
-- from the single schema text before these scripts is left as it is).
UPDATE sent_messages SET status_rank = status_rank + 1
WHERE (status = 'Delivered' AND status_rank = 2) OR (status = 'Acknowledged' AND status_rank = 3) OR (status = 'Withdrawn' AND status_rank = 4);
