//! The JSON body extractor every vendor surface uses: `axum::Json`, except that a body that
//! cannot be read is answered in the surface's own envelope (`ApiError::rejection`), with the
//! status the rejection calls for (400, 413, 415).

/// `vendor_json!(FinJson, ApiError)` defines `pub struct FinJson<T>(pub T)` extracting a JSON
/// body and rejecting with `ApiError::rejection(&JsonRejection)`.
#[macro_export]
macro_rules! vendor_json {
    ($name:ident, $error:ty) => {
        /// A JSON body, or the adapter's own 400/413/415 when it cannot be read.
        pub struct $name<T>(pub T);

        impl<S, T> ::axum::extract::FromRequest<S> for $name<T>
        where
            ::axum::Json<T>: ::axum::extract::FromRequest<
                    S,
                    Rejection = ::axum::extract::rejection::JsonRejection,
                >,
            S: Send + Sync,
        {
            type Rejection = $error;

            async fn from_request(
                req: ::axum::extract::Request,
                state: &S,
            ) -> Result<Self, Self::Rejection> {
                match ::axum::Json::<T>::from_request(req, state).await {
                    Ok(::axum::Json(value)) => Ok(Self(value)),
                    Err(rejection) => Err(<$error>::rejection(&rejection)),
                }
            }
        }
    };
}
