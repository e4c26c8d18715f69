-- The archive's first schema. One row per request (its latest archived version) and one row per
-- event (unique on request id + version, so archiving an event twice is a no-op).

-- A request's record: the columns are what reads filter and sort on; `record` is the whole
-- record in the service's stored form (service/storage/codec.py, msgspec JSON), decoded by the
-- same codec, so a read from the archive answers exactly what a read from Redis answers.
--
-- `record` and `event` are `json`, not `jsonb`: `json` keeps the text byte for byte (the same
-- bytes Redis holds, so a reply built from either side is the same), and it accepts every
-- string the API accepts, where `jsonb` refuses a \u0000 (a buyer's description may hold
-- one: one such request would stop the archiver). Nothing queries inside them: what is
-- queried is a column.
CREATE TABLE requests (
    request_id    text PRIMARY KEY,
    shop_id       text NOT NULL,
    buyer_id      text NOT NULL,
    order_id      text NOT NULL,
    sku_id        text NOT NULL,
    type          text NOT NULL,        -- aftersale.vocabulary.AfterSaleType name
    state         text NOT NULL,        -- aftersale.vocabulary.State name
    amount        bigint NOT NULL,      -- fen
    paid_amount   bigint NOT NULL,      -- fen
    refund_amount bigint,               -- fen, once a refund was requested
    reason        text NOT NULL,        -- BuyerReason name
    first_reason  text NOT NULL,        -- BuyerReason name of the first application
    reject_reason text,                 -- RejectReason name, if rejected
    close_reason  text,                 -- CloseReason name, if closed without a refund
    terminal      boolean NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer NOT NULL,
    record        json NOT NULL,
    archived_at   timestamptz NOT NULL DEFAULT now()
);

-- Listings page by (created_at, request_id), like the Redis listings (score = created ms).
CREATE INDEX requests_by_shop ON requests (shop_id, created_at, request_id);
CREATE INDEX requests_by_buyer ON requests (buyer_id, created_at, request_id);
CREATE INDEX requests_by_order ON requests (order_id, created_at, request_id);
CREATE INDEX requests_by_created ON requests (created_at, request_id);

-- A request's history: one row per version; `event` is the history row as Redis keeps it (the
-- event's proto JSON with its eventId), so GetHistory answers the same from either side.
CREATE TABLE events (
    request_id  text NOT NULL,
    version     integer NOT NULL,
    event_id    text NOT NULL,
    occurred_at timestamptz NOT NULL,
    action      text NOT NULL,          -- the proto Action name (ACTION_…)
    shop_id     text NOT NULL,
    event       json NOT NULL,
    PRIMARY KEY (request_id, version)
);

-- Shop figures over a time window (GetShopStats) count events of a shop by time.
CREATE INDEX events_by_shop ON events (shop_id, occurred_at);
