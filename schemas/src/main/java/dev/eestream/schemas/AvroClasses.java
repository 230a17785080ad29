package dev.eestream.schemas;

import org.apache.avro.util.ClassSecurityValidator;

/**
 * Avro (1.11.4+) refuses to instantiate classes named by a schema unless they are trusted. This
 * adds eestream's generated classes to the trusted set once, keeping whatever else is trusted.
 */
public final class AvroClasses {
    private static boolean trusted;

    private AvroClasses() {
    }

    public static synchronized void trust() {
        if (trusted) {
            return;
        }
        ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(),
                ClassSecurityValidator.builder().add(InferenceRequest.class).add(InferenceResponse.class)
                        .add(ResponseStatus.class).build()));
        trusted = true;
    }
}
