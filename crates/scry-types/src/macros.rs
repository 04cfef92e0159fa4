//! The macro that defines the protocol's fieldless enums.

/// Defines a fieldless enum whose variants have a fixed discriminant, together with the
/// conversions every such protocol enum needs: `from_byte`, `as_u8`, `name` (the variant
/// name, which is what goes on the wire), `from_name`, `ALL`, and serde impls (behind the
/// `serde` feature) that write and read the variant name as a string, exactly as serde's
/// derive does for unit variants.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = $disc:literal
            ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        $vis enum $name {
            $(
                $(#[$vmeta])*
                $variant = $disc,
            )+
        }

        impl $name {
            /// Every variant, in declaration (and discriminant) order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant whose discriminant is `b`, or `None` for a byte no variant uses.
            #[must_use]
            #[inline(always)]
            pub const fn from_byte(b: u8) -> Option<Self> {
                match b {
                    $($disc => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The discriminant of this variant (the same as `self as u8`).
            #[must_use]
            #[inline]
            pub const fn as_u8(self) -> u8 {
                self as u8
            }

            /// The variant's name (`"Int32"`, `"Update"`, ...): the string that the
            /// compatible wire encoding stores for this value.
            #[must_use]
            #[inline]
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)+
                }
            }

            /// The variant named `name` (exact, case-sensitive match), as stored on the wire.
            #[must_use]
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $(stringify!($variant) => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl TryFrom<u8> for $name {
            type Error = $crate::UnknownDiscriminant;

            fn try_from(b: u8) -> Result<Self, Self::Error> {
                Self::from_byte(b).ok_or($crate::UnknownDiscriminant {
                    enum_name: stringify!($name),
                    value: b,
                })
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                v as u8
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::UnknownName;

            /// Parses the variant name (as written on the wire).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_name(s).ok_or_else(|| $crate::UnknownName {
                    enum_name: stringify!($name),
                    name: s.to_owned(),
                })
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                // serde's derive passes the variant's position, not its discriminant.
                let index = Self::ALL.iter().position(|v| v == self).unwrap_or(0) as u32;
                s.serialize_unit_variant(stringify!($name), index, self.name())
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("the name of a ", stringify!($name), " variant"))
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::from_name(v).ok_or_else(|| {
                            E::unknown_variant(v, &[$(stringify!($variant)),+])
                        })
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}
