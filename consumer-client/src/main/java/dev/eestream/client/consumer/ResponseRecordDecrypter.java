package dev.eestream.client.consumer;

import dev.eestream.schemas.InferenceResponse;
import dev.eestream.schemas.registry.SchemaRegistryException;
import java.util.Objects;

/**
 * Turns one raw record of a response topic into what a reader gets: the decrypted result, the processor's
 * {@link DecryptedResult.Failure}, or a {@link DecryptedResult.BadRecord} saying where it was and why it is not usable.
 */
public final class ResponseRecordDecrypter {
    private final ResponseDecoder decoder;
    private final ResponseDecryptor decryptor;

    public ResponseRecordDecrypter(ResponseDecoder decoder, ResponseDecryptor decryptor) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.decryptor = Objects.requireNonNull(decryptor, "decryptor");
    }

    /** @throws SchemaRegistryException when the registry cannot be asked: read the record again later */
    public DecryptedResult read(RecordPosition position, String key, byte[] value) {
        DecodedResponse decoded = decoder.decode(position, key, value);
        if (decoded instanceof DecodedResponse.Unreadable unreadable) {
            return unreadable.badRecord();
        }
        InferenceResponse response = ((DecodedResponse.Readable) decoded).response();
        try {
            return decryptor.decrypt(response);
        } catch (UnusableResponseException e) {
            return new DecryptedResult.BadRecord(position, response.getRequestId(), response.getModelId(), e.kind(), e.getMessage());
        }
    }
}
