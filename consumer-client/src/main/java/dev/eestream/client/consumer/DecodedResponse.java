package dev.eestream.client.consumer;

import dev.eestream.schemas.InferenceResponse;

/** One record of a response topic after decoding: a response, or why it is not one. */
public sealed interface DecodedResponse permits DecodedResponse.Readable, DecodedResponse.Unreadable {

    RecordPosition position();

    /** The record decoded into a response; whether it is the reader's to decrypt is not decided yet. */
    record Readable(RecordPosition position, InferenceResponse response) implements DecodedResponse {
    }

    /** The record did not decode. */
    record Unreadable(DecryptedResult.BadRecord badRecord) implements DecodedResponse {
        @Override
        public RecordPosition position() {
            return badRecord.position();
        }
    }
}
