//! The diesel schema, written by hand: one description valid for both the SQLite and
//! the PostgreSQL migrations (`runtime/migrations/{sqlite,postgres}`).

diesel::table! {
    runs (id) {
        id -> BigInt,
        tenant -> Text,
        uid -> Text,
        name -> Text,
        created_by -> Text,
        created_us -> BigInt,
        updated_us -> BigInt,
    }
}

diesel::table! {
    scalars (id) {
        id -> BigInt,
        run_id -> BigInt,
        metric -> Text,
        variant -> Text,
        step -> Nullable<BigInt>,
        ts_us -> BigInt,
        value -> Double,
        special -> SmallInt,
        source -> Text,
        point_key -> Text,
        extra -> Nullable<Text>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        run_id -> BigInt,
        event_type -> Text,
        metric -> Text,
        variant -> Text,
        iter -> Nullable<BigInt>,
        ts_us -> BigInt,
        point_key -> Nullable<Text>,
        payload -> Text,
    }
}

diesel::table! {
    run_meta (run_id, kind, key) {
        run_id -> BigInt,
        kind -> Text,
        key -> Text,
        value -> Text,
        ts_us -> BigInt,
    }
}

diesel::joinable!(scalars -> runs (run_id));
diesel::joinable!(events -> runs (run_id));
diesel::joinable!(run_meta -> runs (run_id));

diesel::allow_tables_to_appear_in_same_query!(runs, scalars, events, run_meta);

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}
