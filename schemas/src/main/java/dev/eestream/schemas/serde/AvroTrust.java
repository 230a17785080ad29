package dev.eestream.schemas.serde;

import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.util.ClassSecurityValidator;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.TreeSet;

/**
 * Since 1.12.2, Avro loads a class by name only if {@link ClassSecurityValidator} trusts it, and by
 * default it trusts a few JDK classes only, so reading into generated classes fails. The classes a
 * deserializer is explicitly given, with the named types of their compiled schemas, are the ones the
 * application chose: those (and never names taken from a writer's schema) are declared trusted.
 */
public final class AvroTrust {

    private static final Set<String> declared = new HashSet<>();

    private AvroTrust() {
    }

    /** Trusts a generated class and the named types of its schema: for code that reads Avro without these serdes. */
    public static void declare(Class<? extends org.apache.avro.specific.SpecificRecord> type) {
        declare(SpecificData.get().getSchema(type));
    }

    /** Trusts the classes of the records, enums and fixed types in {@code readerSchema}. */
    public static synchronized void declare(Schema readerSchema) {
        Set<String> names = new TreeSet<>();
        collect(readerSchema, names, Collections.newSetFromMap(new IdentityHashMap<>()));
        names.removeAll(declared);
        if (names.isEmpty()) {
            return;
        }
        ClassSecurityValidator.Builder trusted = ClassSecurityValidator.builder();
        names.forEach(trusted::add);
        ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(ClassSecurityValidator.getGlobal(), trusted.build()));
        declared.addAll(names);
    }

    private static void collect(Schema schema, Set<String> names, Set<Schema> seen) {
        if (!seen.add(schema)) {
            return;
        }
        switch (schema.getType()) {
            case RECORD -> {
                names.add(SpecificData.getClassName(schema));
                schema.getFields().forEach(field -> collect(field.schema(), names, seen));
            }
            case ENUM, FIXED -> names.add(SpecificData.getClassName(schema));
            case ARRAY -> collect(schema.getElementType(), names, seen);
            case MAP -> collect(schema.getValueType(), names, seen);
            case UNION -> schema.getTypes().forEach(type -> collect(type, names, seen));
            default -> {
            }
        }
    }
}
