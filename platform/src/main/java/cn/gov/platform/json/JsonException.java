package cn.gov.platform.json;

/** Malformed JSON input. */
public class JsonException extends Exception {
    private static final long serialVersionUID = 1L;

    public JsonException(String message) {
        super(message);
    }
}
