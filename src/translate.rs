//! Address translation rules (TranslationPattern / TranslationOutput).
